from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def course_list(request):
    return render(request, "content/course_list.html", {})
