module github.com/libmba/mba-go

go 1.19
