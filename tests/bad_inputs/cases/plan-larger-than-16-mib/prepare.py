open("plan.json", "w").write(" " * 17 * 1024 * 1024 + "{}")
