import os
import shutil

os.makedirs("../outside", exist_ok=True)
shutil.copytree("functions/svc", "../outside/svc")
shutil.rmtree("functions/svc")
os.symlink("../../outside/svc", "functions/svc")
