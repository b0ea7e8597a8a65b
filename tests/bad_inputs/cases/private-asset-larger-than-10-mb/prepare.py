import os

os.makedirs("functions/svc/assets")
open("functions/svc/assets/data.private.bin", "wb").write(b"0" * 10_000_001)
