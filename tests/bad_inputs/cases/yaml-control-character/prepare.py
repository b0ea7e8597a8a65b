open("environments/dev.yaml", "a").write("prune: false\x07\n")
