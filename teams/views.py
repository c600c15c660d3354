from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .forms import LanguageForm, ProfileForm


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    current = services.profile_for(user=request.user)
    form = ProfileForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        translation.activate(form.cleaned_data["language"])
        messages.success(request, _("Your profile is saved."))
        return redirect("profile")
    return render(request, "teams/profile.html", {"form": form})


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: remembered in a cookie, and in the profile when signed in."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            services.profile_set_language(user=request.user, language=language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@login_required
def team(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/team.html", {})
