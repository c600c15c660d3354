from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from content.models import Course, Lesson

from .models import ReviewLog, ReviewSettings

FEEDBACK_SALT = "quizzes.feedback"
SHOWING_SALT = "quizzes.showing"
# A showing older than this was left open overnight: its answer is still graded, its duration is not trusted.
MAX_TOKEN_AGE = 60 * 60 * 24


class SessionForm(forms.Form):
    """What every step of the Today session carries: the lesson it is focused on, if any."""

    lesson = forms.IntegerField(required=False, min_value=1)


class CourseStartForm(forms.Form):
    course = forms.ModelChoiceField(queryset=Course.objects.all())


class LessonStartForm(forms.Form):
    lesson = forms.ModelChoiceField(queryset=Lesson.objects.all())


class AnswerForm(SessionForm):
    card = forms.IntegerField(min_value=1)
    shown_at = forms.IntegerField(min_value=0, help_text="Server time in ms when the question was shown.")
    # Signed: when the question was shown and the seed its options were shuffled with (see session_response).
    showing = forms.CharField(required=False, max_length=500)
    answer = forms.CharField(required=False, max_length=2000, strip=True)
    choice = forms.IntegerField(required=False, min_value=0, max_value=9)

    def clean_showing(self) -> dict | None:
        if not self.cleaned_data["showing"]:
            return None
        try:
            return signing.loads(self.cleaned_data["showing"], salt=SHOWING_SALT, max_age=MAX_TOKEN_AGE)
        except signing.BadSignature as error:
            raise forms.ValidationError(_("This question expired; please answer it again.")) from error

    def clean(self):
        showing = self.cleaned_data.get("showing")
        if showing and showing["card"] != self.cleaned_data.get("card"):
            raise forms.ValidationError(_("This question expired; please answer it again."))
        return self.cleaned_data


class RateForm(SessionForm):
    """The rating, and the graded answer carried from the feedback step in a signed token (not re-graded)."""

    token = forms.CharField(max_length=4000)
    rating = forms.TypedChoiceField(choices=ReviewLog.Rating.choices, coerce=int)

    def clean_token(self) -> dict:
        try:
            return signing.loads(self.cleaned_data["token"], salt=FEEDBACK_SALT, max_age=MAX_TOKEN_AGE)
        except signing.BadSignature as error:
            raise forms.ValidationError(_("This answer expired; please answer the card again.")) from error


class ExtendForm(SessionForm):
    """ "Study more today": which limit to raise."""

    limit = forms.ChoiceField(choices=[("reviews", "reviews"), ("new", "new")])


class ReviewSettingsForm(forms.ModelForm):
    class Meta:
        model = ReviewSettings
        fields = [
            "desired_retention",
            "new_per_day",
            "max_reviews_per_day",
            "rollover_hour",
            "mix_new_with_reviews",
            "reminders_enabled",
            "reminder_hour",
            "suspend_leeches",
        ]
        widgets = {"desired_retention": forms.NumberInput(attrs={"step": "0.01", "min": "0.7", "max": "0.97"})}

    def clean_desired_retention(self) -> float:
        value = self.cleaned_data["desired_retention"]
        if not 0.7 <= value <= 0.97:
            raise forms.ValidationError(_("Choose a retention between 0.70 and 0.97."))
        return value

    def clean_rollover_hour(self) -> int:
        value = self.cleaned_data["rollover_hour"]
        if not 0 <= value <= 23:
            raise forms.ValidationError(_("Choose an hour from 0 to 23."))
        return value

    def clean_reminder_hour(self) -> int:
        value = self.cleaned_data["reminder_hour"]
        if not 0 <= value <= 23:
            raise forms.ValidationError(_("Choose an hour from 0 to 23."))
        return value


class MyCardsForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, strip=True)
    show = forms.ChoiceField(
        required=False, choices=[("all", _("All cards")), ("suspended", _("Suspended")), ("leeches", _("Leeches"))]
    )


class CardEditForm(forms.Form):
    prompt = forms.CharField(
        required=False, max_length=2000, strip=True, widget=forms.Textarea(attrs={"rows": 2}), label=_("Question")
    )
    answer = forms.CharField(required=False, max_length=2000, strip=True, label=_("Answer"))
    note = forms.CharField(
        required=False, max_length=2000, strip=True, widget=forms.Textarea(attrs={"rows": 2}), label=_("Your note")
    )
