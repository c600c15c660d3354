from django import forms
from django.utils.translation import gettext_lazy as _


class AskForm(forms.Form):
    question = forms.CharField(
        label=_("Your question"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2, "required": True})
    )
    socratic = forms.BooleanField(label=_("Socratic mode: a hint first"), required=False)
    conversation = forms.IntegerField(required=False, widget=forms.HiddenInput)
    lesson = forms.IntegerField(required=False, widget=forms.HiddenInput)
    missed_question = forms.IntegerField(required=False, widget=forms.HiddenInput)
    missed_answer = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("1", "up"), ("0", "down")], coerce=lambda v: v == "1")
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=1000)
