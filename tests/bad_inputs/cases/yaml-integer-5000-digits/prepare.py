open("environments/dev.yaml", "a").write("prune: " + "9" * 5000 + "\n")
