import os
import shutil

os.makedirs("../outside", exist_ok=True)
shutil.copy("twideploy.yaml", "../outside/twideploy.yaml")
os.remove("twideploy.yaml")
os.symlink("../outside/twideploy.yaml", "twideploy.yaml")
