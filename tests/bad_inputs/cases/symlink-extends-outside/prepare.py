import os

os.makedirs("../outside", exist_ok=True)
open("../outside/shared.yaml", "w").write("abstract: true\ntarget: emulator\n")
os.symlink("../../outside/shared.yaml", "environments/shared.yaml")
