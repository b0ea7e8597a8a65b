for i in range(40):
    ext = f"extends: e{i + 1}\n" if i < 39 else ""
    open(f"environments/e{i}.yaml", "w").write(ext + "abstract: true\ntarget: emulator\n")
