open("plan.json", "w").write('{"format_version": 1, "changes": ' + "[" * 5000 + "]" * 5000 + "}\n")
