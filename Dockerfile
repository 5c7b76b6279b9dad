# A corral image with nothing in it but the static binary.
# Build the binary first (the test and `make image` do this):
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o deploy/corral ./cmd/corral
#   docker build -t corral:dev .
FROM scratch
COPY deploy/corral /corral
EXPOSE 2181 2888
VOLUME /data
ENTRYPOINT ["/corral"]
CMD ["server", "--client-addr", "0.0.0.0:2181", "--data-dir", "/data"]
