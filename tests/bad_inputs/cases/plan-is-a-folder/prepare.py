import os

os.mkdir("plans")
