FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq5 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN pip install --no-cache-dir -e . \
 && SECRET_KEY=build-only-not-a-secret-000000000000 DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --no-input
RUN useradd --create-home primer && chown -R primer /app
USER primer
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
