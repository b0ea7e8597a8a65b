open("twideploy.yaml", "w").write("name: mini\ndefault_environment: dev\x00\n")
