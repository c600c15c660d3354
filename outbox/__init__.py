"""Celery messages that could not be sent (the broker was down), kept in PostgreSQL until they are.

A view queues work on commit with `send_on_commit(task, *args)`; when Redis refuses the message, the request
still succeeds and the message waits here. The beat task `outbox.tasks.pending_tasks_send` sends it once the
broker answers again, and the worker sends whatever is left when it starts.
"""
