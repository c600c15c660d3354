from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from content.models import Course

from .models import Role

User = get_user_model()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["display_name", "language", "timezone"]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=Profile._meta.get_field("language").choices)
    next = forms.CharField(required=False)


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Organization"), max_length=200)
    team_name = forms.CharField(label=_("First team"), max_length=200, initial=_("New hires"))


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), required=False, help_text=_("Leave empty to make an invite link instead.")
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.LEARNER)
    max_uses = forms.IntegerField(label=_("How many people may use the link"), min_value=1, max_value=500, initial=10)
    expires_in_days = forms.IntegerField(label=_("Expires after (days)"), min_value=1, max_value=90, initial=14)


class AssignmentForm(forms.Form):
    course = forms.ModelChoiceField(
        label=_("Course"), queryset=Course.objects.order_by("title"), empty_label=_("Choose a course")
    )
    learner = forms.ModelChoiceField(
        label=_("Learner"),
        queryset=None,
        required=False,
        empty_label=_("The whole team"),
    )
    due_on = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the team's own learners can be chosen: a posted id of anyone else fails validation.
        self.fields["learner"].queryset = (
            User.objects.filter(memberships__team=team, memberships__role=Role.LEARNER)
            .select_related("profile")
            .order_by("email")
        )
        self.fields["learner"].label_from_instance = lambda user: user.profile.name
        # Course titles in the manager's language.
        language = translation.get_language() or "en"
        self.fields["course"].label_from_instance = lambda course: course.title_in(language)

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(_("The due date has passed."))
        return due_on
