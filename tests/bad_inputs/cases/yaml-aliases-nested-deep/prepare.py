lines = ["x0: &x0 " + "[" * 60 + "]" * 60]
lines += [f"x{i}: &x{i} " + "[" * 60 + f"*x{i - 1}" + "]" * 60 for i in range(1, 40)]
open("twideploy.yaml", "a").write("\n".join(lines) + "\n")
