from django import forms

from .models import Profile


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["display_name", "language", "timezone"]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=Profile._meta.get_field("language").choices)
    next = forms.CharField(required=False)
