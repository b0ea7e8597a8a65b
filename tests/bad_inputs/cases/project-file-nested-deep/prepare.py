open("twideploy.yaml", "a").write("".join(" " * i + "k:\n" for i in range(200)) + " " * 200 + "k: 1\n")
