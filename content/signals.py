"""What content tells the apps above it, which it must not import: they connect receivers in their AppConfig.ready."""

from django.dispatch import Signal

# Sent with `course=` once new lessons of that course are committed (the apps above react, e.g. by writing questions).
course_content_changed = Signal()
