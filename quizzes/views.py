from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def today(request):
    return render(request, "quizzes/today.html", {})


@login_required
def progress(request):
    return render(request, "quizzes/progress.html", {})
