"""gunicorn settings for Afterimage behind nginx (deploy/nginx-site.conf): `gunicorn -c deploy/gunicorn.conf.py`.

Stock gunicorn, run twice: for readers (127.0.0.1:8000), and with AFTERIMAGE_BIND=127.0.0.1:8001
AFTERIMAGE_WORKERS=2 for the author's studio (nginx's afterimage_studio upstream). Environment:
AFTERIMAGE_BIND (default 127.0.0.1:8000, where nginx's upstream points), AFTERIMAGE_WORKERS (default from the
core count, below), AFTERIMAGE_THREADS (default 1), plus the app's own (DATABASE_URL, SECRET_KEY,
AFTERIMAGE_PROXY_COUNT=1 behind nginx, ...).
"""
import multiprocessing
import os

wsgi_app = "app:create_app()"
bind = os.environ.get("AFTERIMAGE_BIND", "127.0.0.1:8000")

# Sync workers: nginx buffers every request body and every answer, so a worker is never held by a slow
# client, which is what the threaded and async classes are for; and pages render in parallel, one per
# process, instead of taking turns at one interpreter lock (docs/performance.md compares the two classes).
worker_class = "sync"
# gunicorn's rule of thumb, 2 per core plus one, capped: past that, on a small server, extra workers only
# add memory (each holds the recommendation model) and wait for the same cores.
workers = int(os.environ.get("AFTERIMAGE_WORKERS") or min(multiprocessing.cpu_count() * 2 + 1, 9))
threads = int(os.environ.get("AFTERIMAGE_THREADS") or 1)

# A large Goodreads or Letterboxd import runs inside its request: allow it two minutes (nginx waits 130 s).
timeout = 120
# On a restart or deploy (SIGHUP/SIGTERM) a worker finishes the request in hand, an import included.
graceful_timeout = 120
keepalive = 5

# Replace each worker after about ten thousand requests (each new one reloads the recommendation model), at
# staggered moments, so a slow leak never grows.
max_requests = 10000
max_requests_jitter = 1000

# Logs to stderr (journald or the service manager keeps them).
accesslog = os.environ.get("AFTERIMAGE_ACCESS_LOG") or None
errorlog = "-"
