module libmba.demo/go-reader

go 1.19

require github.com/libmba/mba-go v0.0.0

replace github.com/libmba/mba-go => ../../go
