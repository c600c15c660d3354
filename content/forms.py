from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Course
from .readers import SUPPORTED_SUFFIXES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(sorted(SUPPORTED_SUFFIXES))}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f] or [super().clean(None, initial)]


class UploadForm(forms.Form):
    course = forms.ModelChoiceField(
        queryset=Course.objects.order_by("title"), required=False, label=_("Course"), empty_label=_("A new course…")
    )
    new_course_slug = forms.SlugField(required=False, label=_("New course slug"))
    new_course_title = forms.CharField(required=False, max_length=200, label=_("New course title"))
    files = MultipleFileField(
        label=_("Files"), help_text=_("Markdown, HTML, plain text, PDF or Word (.docx); UTF-8, GBK or Big5.")
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        per_file, total = settings.UPLOAD_FILE_MAX_MB, settings.UPLOAD_TOTAL_MAX_MB
        too_big = [f.name for f in files if f.size > per_file * 1024 * 1024]
        if too_big:
            raise forms.ValidationError(
                _("Each file may be at most %(limit)d MB; too large: %(names)s.")
                % {"limit": per_file, "names": ", ".join(too_big)}
            )
        if sum(f.size for f in files) > total * 1024 * 1024:
            raise forms.ValidationError(
                _("One upload may be at most %(limit)d MB in all; send the files in parts.") % {"limit": total}
            )
        return files

    def clean(self):
        data = super().clean()
        if not data.get("course") and not data.get("new_course_slug"):
            raise forms.ValidationError(_("Choose a course or give the new course a slug."))
        return data
