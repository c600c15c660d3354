from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def tutor(request):
    return render(request, "tutor/tutor.html", {})
