import os

os.mkfifo("environments/qa.yaml")
