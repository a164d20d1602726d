module jobserver-floors

go 1.19
