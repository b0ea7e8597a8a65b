open("flows/main.json", "w").write('{"description": "x",\n "states": ' + "9" * 5000 + "}\n")
