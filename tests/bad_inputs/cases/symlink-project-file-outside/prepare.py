import os
os.makedirs("../outside", exist_ok=True)
import shutil
shutil.copy("twideploy.yaml", "../outside/twideploy.yaml")
os.remove("twideploy.yaml")
os.symlink("../outside/twideploy.yaml", "twideploy.yaml")
