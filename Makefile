# abusewatch — two commands on a fresh Debian machine:
#   make run    installs what is missing, builds, replays the bundled sample stream
#   make test   installs what is missing, builds (normal + ASan/UBSan), runs every test
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
SHARED     ?= ../shared
CONFIG     ?= config/abusewatch.yaml
SAMPLE     ?= config/samples/sample-stream.jsonl

DEB_PACKAGES = cmake ninja-build g++ make pkg-config python3 clang-format \
  libsimdjson-dev libyaml-cpp-dev libabsl-dev libxxhash-dev libcli11-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libboost-dev prometheus-cpp-dev librdkafka-dev libssl-dev librocksdb-dev \
  libjemalloc-dev libsqlite3-dev libpq-dev postgresql \
  default-jre-headless maven kcat prometheus-alertmanager prometheus chromium

.PHONY: all deps build run replay-sample test test-fast asan bench scenarios format check-format clean install

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The daemon on the embedded default: the bundled sample stream (followed), the legal pack,
# transitions on stdout, metrics on http://127.0.0.1:9464/metrics. Ctrl-C stops it.
run: build
	./$(BUILD)/abusewatch run --config $(CONFIG)

replay-sample: build
	./$(BUILD)/abusewatch replay --config $(CONFIG) --input $(SAMPLE) --output -

asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DABUSEWATCH_SANITIZE=ON \
	  -DABUSEWATCH_BUILD_BENCHMARKS=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)

scenarios: build
	@if [ -x $(SHARED)/scenarios/run.sh ]; then \
	  $(SHARED)/scenarios/run.sh $(BUILD)/abusewatch $(CONFIG); \
	else echo "no $(SHARED)/scenarios: skipped (the same files run inside the test suite)"; fi

check-format:
	@bad=$$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c warning || true); \
	if [ "$$bad" != "0" ]; then echo "clang-format: $$bad findings (run make format)"; exit 1; fi

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

# Every test: the normal build, the acceptance scenarios, then the whole suite under ASan/UBSan.
test: build asan check-format
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory scenarios
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/benchmarks/abusewatch_bench
	benchmarks/replay_bench.sh $(BUILD)/abusewatch

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=staging-root]: the binary to $(PREFIX)/bin, the
# systemd unit to $(PREFIX)/lib/systemd/system, the sysusers entry, the production config
# (deploy/abusewatch.yaml) and the legal pack to /etc/abusewatch (an existing, different file
# is kept and the new one written next to it as <file>.dist), the Prometheus rules, Alertmanager
# example, Grafana dashboard and runbook to $(PREFIX)/share. Builds first only when the binary is
# missing. Without DESTDIR, as root: creates the `abusewatch` user. See deploy/README.md.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
SYSCONFDIR  ?= /etc
DATADIR     ?= $(PREFIX)/share/abusewatch
DOCDIR      ?= $(PREFIX)/share/doc/abusewatch

install: $(if $(wildcard $(BUILD)/abusewatch),,build)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/abusewatch/packs $(DESTDIR)$(DATADIR)/prometheus \
	  $(DESTDIR)$(DATADIR)/alertmanager $(DESTDIR)$(DATADIR)/grafana $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BUILD)/abusewatch $(DESTDIR)$(BINDIR)/abusewatch
	sed -e 's|/usr/local/bin/abusewatch|$(BINDIR)/abusewatch|g' \
	  -e 's|/etc/abusewatch|$(SYSCONFDIR)/abusewatch|g' deploy/systemd/abusewatch.service \
	  > $(DESTDIR)$(UNITDIR)/abusewatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/abusewatch.service
	install -m 0644 deploy/systemd/abusewatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/abusewatch.conf
	@for pair in deploy/abusewatch.yaml:abusewatch.yaml \
	    config/packs/legal-cn-2019.yaml:packs/legal-cn-2019.yaml; do \
	  src=$${pair%%:*}; dst=$(DESTDIR)$(SYSCONFDIR)/abusewatch/$${pair#*:}; \
	  if [ -e "$$dst" ] && ! cmp -s "$$src" "$$dst"; then \
	    install -m 0644 "$$src" "$$dst.dist"; echo "kept $$dst (new version: $$dst.dist)"; \
	  else install -m 0644 "$$src" "$$dst"; fi; \
	done
	install -m 0644 deploy/prometheus/abusewatch-rules.yml deploy/prometheus/prometheus.yml \
	  $(DESTDIR)$(DATADIR)/prometheus/
	install -m 0644 deploy/alertmanager/example.yml $(DESTDIR)$(DATADIR)/alertmanager/
	install -m 0644 deploy/grafana/abusewatch.json $(DESTDIR)$(DATADIR)/grafana/
	install -m 0644 docs/runbook.md deploy/README.md $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && ! getent passwd abusewatch >/dev/null; then \
	  if command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers $(SYSUSERSDIR)/abusewatch.conf; \
	  else useradd --system --home-dir /var/lib/abusewatch --shell /usr/sbin/nologin abusewatch; fi; \
	fi
	@echo "installed; next: systemctl daemon-reload && systemctl enable --now abusewatch"
