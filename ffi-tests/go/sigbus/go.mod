module mba.test/sigbus

go 1.19
