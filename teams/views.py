from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

import accounts.services

from . import heatmap, selectors, services
from .forms import AssignmentForm, InvitationForm, LanguageForm, OrganizationForm, ProfileForm
from .models import Invitation, Team


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    current = accounts.services.profile_for(user=request.user)
    form = ProfileForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        accounts.services.profile_update(user=request.user, **form.cleaned_data)
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
            accounts.services.profile_set_language(user=request.user, language=language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@login_required
def team(request: HttpRequest) -> HttpResponse:
    """The learner's teams and assignments; the teams a manager looks after; starting an organization."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(admin=request.user, **form.cleaned_data)
        messages.success(request, _("%(name)s is ready: invite your team.") % {"name": organization.name})
        return redirect("team_people", organization.teams.get().id)
    context = {
        "memberships": selectors.memberships_of(user=request.user),
        "managed": selectors.teams_managed_by(user=request.user).order_by("organization__name", "name"),
        "assignments": selectors.assignments_for_learner(user=request.user),
        "form": form,
    }
    return render(request, "teams/team.html", context)


def _managed_team_or_404(request: HttpRequest, team_id: int) -> Team:
    # A team the viewer does not manage answers exactly like one that does not exist.
    try:
        return selectors.team_managed_by(user=request.user, team_id=team_id)
    except Team.DoesNotExist:
        raise Http404 from None


def _dashboard_for(request: HttpRequest, team: Team, *, detail_lessons: set[str] | None = None):
    course = None
    course_id = request.GET.get("course", "")
    if course_id.isdigit():
        course = next((c for c in selectors.team_courses(team=team) if c.id == int(course_id)), None)
        if course is None:
            raise Http404 from None
    return selectors.team_dashboard(
        team=team, course=course, language=translation.get_language() or "en", detail_lessons=detail_lessons
    )


@login_required
@vary_on_headers("HX-Request")
def team_dashboard(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _managed_team_or_404(request, team_id)
    expanded = request.GET.get("lesson") or None
    # The page shows concepts one by one only for the lesson the manager opened.
    dashboard = _dashboard_for(request, team, detail_lessons={expanded} if expanded else set())
    template = "teams/dashboard.html"
    if request.htmx:
        template += "#dashboard"
    context = {
        "team": team,
        "dashboard": dashboard,
        "legend": heatmap.LEGEND,
        "expanded": expanded,
        "columns": heatmap.columns(dashboard, expanded=expanded),
    }
    return render(request, template, context)


@login_required
def team_dashboard_csv(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _managed_team_or_404(request, team_id)
    dashboard = _dashboard_for(request, team)
    filename = f"primer-{slugify(team.name) or team.id}-{dashboard.today.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    heatmap.write_csv(response, dashboard, language=translation.get_language())
    return response


@login_required
def team_people(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _managed_team_or_404(request, team_id)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not selectors.can_invite_role(user=request.user, team=team, role=data["role"]):
            form.add_error("role", _("Only an organization admin can invite managers and admins."))
        else:
            invitation = services.invitation_create(
                team=team,
                created_by=request.user,
                email=data["email"] or "",
                role=data["role"],
                max_uses=data["max_uses"],
                expires_in_days=data["expires_in_days"],
                join_url_for=lambda inv: request.build_absolute_uri(inv.get_absolute_url()),
            )
            if invitation.email:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            else:
                messages.success(request, _("Invite link created: share it with the people joining."))
            return redirect("team_people", team.id)
    context = {
        "team": team,
        "form": form,
        "members": selectors.team_members(team=team),
        "invitations": selectors.team_invitations_open(team=team),
    }
    return render(request, "teams/people.html", context)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, team_id: int, invitation_id: int) -> HttpResponse:
    team = _managed_team_or_404(request, team_id)
    invitation = get_object_or_404(selectors.team_invitations_open(team=team), pk=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, _("The invitation no longer works."))
    return redirect("team_people", team.id)


@login_required
def team_assignments(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _managed_team_or_404(request, team_id)
    form = AssignmentForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        services.assignment_create(team=team, created_by=request.user, **form.cleaned_data)
        messages.success(request, _("Assigned. The learners' cards are being prepared."))
        return redirect("team_dashboard", team.id)
    context = {"team": team, "form": form, "assignments": selectors.team_assignments(team=team)}
    return render(request, "teams/assignments.html", context)


def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invite link opens: sign up or log in first, then one click joins the team."""
    try:
        invitation = selectors.invitation_by_token(token=token)
    except Invitation.DoesNotExist:
        raise Http404 from None
    error = ""
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except Invitation.DoesNotExist:
            raise Http404 from None
        except services.InvitationError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Welcome to %(team)s.") % {"team": membership.team.name})
            return redirect("today")
    return render(request, "teams/join.html", {"invitation": invitation, "error": error, "next": request.path})
