import secrets

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile

from .models import Assignment, DigestSent, Invitation, Membership, Organization, Team

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fk_name = "user"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]
    verbose_name_plural = _("teams")


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["course", "learner"]
    exclude = ["created_by"]


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    show_change_link = True


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    inlines = [ProfileInline, UserMembershipInline]
    list_display = ["email", "profile_name", "is_active", "is_staff", "last_login", "date_joined"]
    list_select_related = ["profile"]
    search_fields = ["email", "username", "profile__display_name"]
    ordering = ["email"]

    @admin.display(description=_("display name"), ordering="profile__display_name")
    def profile_name(self, user) -> str:
        return user.profile.name


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]
    inlines = [MembershipInline, AssignmentInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role", "team__organization"]
    list_select_related = ["user", "team__organization"]
    search_fields = ["user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "role", "uses", "max_uses", "expires_at", "revoked_at"]
    list_filter = ["role", "team__organization"]
    list_select_related = ["team__organization"]
    search_fields = ["email", "team__name"]
    readonly_fields = ["token", "uses", "created_by", "created_at"]
    autocomplete_fields = ["team"]

    def save_model(self, request, obj, form, change):
        # Invitations made here get a token the same way the People page makes them.
        if not obj.token:
            obj.token = secrets.token_urlsafe(24)
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["course", "team", "learner", "due_on", "created_at"]
    list_filter = ["course", "team__organization"]
    list_select_related = ["course", "team", "learner"]
    autocomplete_fields = ["team", "course", "learner"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(DigestSent)
class DigestSentAdmin(admin.ModelAdmin):
    list_display = ["team", "manager", "week", "sent_at"]
    list_select_related = ["team", "manager"]
    readonly_fields = ["team", "manager", "week", "sent_at"]
