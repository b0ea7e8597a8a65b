import os

os.symlink("loop.yaml", "environments/loop.yaml")
