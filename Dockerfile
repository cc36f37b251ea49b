# A static dicomrecv in a minimal image, running as a non-root user.
#   docker build -t dicomrecv .
#   docker run -p 11112:11112 -v dicom:/data dicomrecv
# The binary is built by scripts/build-static.sh, the same script .ci/run runs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN scripts/build-static.sh /out/dicomrecv

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dicomrecv /usr/local/bin/dicomrecv
USER 65532:65532
VOLUME ["/data"]
EXPOSE 11112
ENTRYPOINT ["/usr/local/bin/dicomrecv"]
CMD ["--port", "11112", "--out-dir", "/data"]
