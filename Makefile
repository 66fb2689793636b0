# C build and install.  `make` builds the release library and the
# libmba.so.0 (SONAME) link in target/release; `make install PREFIX=/usr/local`
# installs libmba.so.0.MINOR.PATCH, libmba.so.0, libmba.so, libmba.a,
# include/mba.h, lib/pkgconfig/mba.pc and the `mba` command (bin/mba).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
REL := target/release
# What rustc links a staticlib against (cargo rustc --print native-static-libs).
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

.PHONY: all install uninstall
all:
	cargo build --release -p mba -p mba-cli
	ln -sf libmba.so $(REL)/libmba.so.0

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(REL)/mba $(DESTDIR)$(BINDIR)/mba
	install -m 755 $(REL)/libmba.so $(DESTDIR)$(LIBDIR)/libmba.so.$(VERSION)
	ln -sf libmba.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmba.so.0
	ln -sf libmba.so.0 $(DESTDIR)$(LIBDIR)/libmba.so
	install -m 644 $(REL)/libmba.a $(DESTDIR)$(LIBDIR)/libmba.a
	strip --strip-debug $(DESTDIR)$(LIBDIR)/libmba.a
	install -m 644 include/mba.h $(DESTDIR)$(INCLUDEDIR)/mba.h
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: mba' 'Description: memory-backed arrays shared across processes and languages' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lmba' \
	  'Libs.private: $(LIBS_PRIVATE)' > $(DESTDIR)$(LIBDIR)/pkgconfig/mba.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libmba.so* $(DESTDIR)$(LIBDIR)/libmba.a \
	  $(DESTDIR)$(INCLUDEDIR)/mba.h $(DESTDIR)$(LIBDIR)/pkgconfig/mba.pc \
	  $(DESTDIR)$(BINDIR)/mba

# Every cargo-fuzz target of fuzz/ for FUZZ_SECONDS (>= 60) each; prints the
# executions per target (installs cargo-fuzz if missing).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
