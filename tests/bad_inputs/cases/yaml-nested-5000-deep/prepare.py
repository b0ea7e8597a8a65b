open("flows/main.yaml", "w").write("states: " + "[" * 5000 + "]" * 5000 + "\n")
