from django.conf import settings


def primer(request):
    return {"llm_offline": not settings.LLM_ENABLED}
