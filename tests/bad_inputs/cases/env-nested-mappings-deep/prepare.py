open("environments/dev.yaml", "a").write("prune: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n")
