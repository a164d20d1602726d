import GoConcurrency
print("gobench")
