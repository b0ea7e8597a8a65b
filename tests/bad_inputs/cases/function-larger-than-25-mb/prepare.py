open("functions/svc/functions/big.js", "wb").write(b"/" * 26_000_000)
