open("flows/main.yaml", "a").write("# " + "x" * 3 * 1024 * 1024 + "\n")
