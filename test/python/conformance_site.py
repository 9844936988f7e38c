#!/usr/bin/python3
"""A site agent written from the protocol's documents alone, to check lgefed's wire protocol is one.

It uses no lgefed code: protobuf classes that protoc generated from protocol/lgefed.proto,
python3-jwcrypto for the Ed25519 JWS envelopes, python3-socketio for the transport. It enrols with a
token, says hello, takes `rounds` FedAvg training tasks (downloading each round's model in chunks and
checking every digest), "trains" by mapping every weight w to 2w + 1, uploads the result in its own
chunking and sends a TrainResult. Before the first good TrainResult it sends one quoting a wrong
manifest digest, which the coordinator must refuse.

Usage: conformance_site.py --url URL --token TOKEN --coordinator-key JWK_JSON --proto-dir DIR
                           --cases N --rounds N
Prints READY <site id> once enrolled, then one JSON line with what it did; exits non-zero on any
deviation from the protocol.
"""
import argparse
import hashlib
import json
import struct
import sys
import threading
import time
import urllib.request
import uuid

import socketio
from jwcrypto import jwk, jws

ENVELOPE_TYPE = 'lgefed+jws'
UPLOAD_CHUNK_BYTES = 256  # not our TypeScript sender's chunk size, on purpose
TIMEOUT_S = 20
# The wire protocol version this site speaks (protocol/src/version.ts). It takes training tasks only,
# so version 2's TaskAssignment.inference (how to score) never applies to it.
PROTOCOL_VERSION = 2


def log(line):
    print(f'[python site] {line}', file=sys.stderr, flush=True)


class ProtocolFailure(Exception):
    pass


class Site:
    def __init__(self, args, pb):
        self.pb = pb
        self.url = args.url
        self.cases = args.cases
        self.rounds = args.rounds
        self.coordinator_key = jwk.JWK(**json.loads(args.coordinator_key))
        self.key = jwk.JWK.generate(kty='OKP', crv='Ed25519')
        self.kid = self.key.thumbprint()
        self.sequence = int(time.time() * 1e6)
        self.sequence_lock = threading.Lock()
        self.site_id = None
        self.task = None
        self.download = None
        self.downloaded = threading.Event()
        self.failure = None
        self.sio = socketio.Client(reconnection=False)
        self.sio.on('envelope', self.on_envelope)
        self.sio.on('chunk', self.on_chunk)

    # --- envelopes -------------------------------------------------------------------------------

    def seal(self, msg_type, message):
        return self.seal_bytes(msg_type, message.SerializeToString())

    def seal_bytes(self, msg_type, payload):
        with self.sequence_lock:
            self.sequence += 1
            seq = self.sequence
        iat = int(time.time())
        header = {'alg': 'EdDSA', 'typ': ENVELOPE_TYPE, 'kid': self.kid, 'msg': msg_type,
                  'jti': str(uuid.uuid4()), 'iat': iat, 'exp': iat + 300, 'seq': seq}
        token = jws.JWS(payload)
        token.add_signature(self.key, None, json.dumps(header))
        return token.serialize(compact=True)

    def open(self, envelope, expected=None):
        """Verifies a coordinator envelope: signature, type, recipient, validity; returns (header, message)."""
        token = jws.JWS()
        token.deserialize(envelope)
        token.verify(self.coordinator_key, alg='EdDSA')
        header = token.jose_header
        if header.get('typ') != ENVELOPE_TYPE:
            raise ProtocolFailure(f'typ {header.get("typ")!r}')
        if expected is not None and header.get('msg') != expected:
            raise ProtocolFailure(f'expected {expected}, got {header.get("msg")}: {self.describe(header, token.payload)}')
        if self.site_id is not None and header.get('aud') != self.site_id:
            raise ProtocolFailure(f'envelope for {header.get("aud")!r}, not for this site {self.site_id}')
        now = time.time()
        if not header['iat'] - 60 <= now <= header['exp'] + 60:
            raise ProtocolFailure('envelope outside its validity window')
        message = getattr(self.pb, header['msg'])()
        message.ParseFromString(token.payload)
        return header, message, token.payload

    def describe(self, header, payload):
        if header.get('msg') != 'ErrorReport':
            return header.get('msg')
        report = self.pb.ErrorReport()
        report.ParseFromString(payload)
        return f'ErrorReport {self.pb.ErrorCode.Name(report.code)}: {report.message}'

    def call(self, event, data, expected):
        reply = self.sio.call(event, data, timeout=TIMEOUT_S)
        return self.open(reply, expected)

    # --- the coordinator's requests -----------------------------------------------------------------

    def on_envelope(self, envelope):
        try:
            header, message, payload = self.open(envelope)
            if header['msg'] == 'TaskAssignment':
                self.take_task(message)
                return self.seal('Ack', self.pb.Ack(message_id=header['jti']))
            if header['msg'] == 'ModelManifest':
                return self.seal('ChunkRequest', self.start_download(message, payload))
            raise ProtocolFailure(f'unexpected {header["msg"]}')
        except Exception as err:  # the reply says why; the main thread fails the run
            self.fail(err)
            return self.seal('ErrorReport', self.pb.ErrorReport(code=self.pb.ERROR_CODE_MALFORMED, message=str(err)[:200]))

    def take_task(self, task):
        if task.kind != self.pb.TASK_KIND_TRAIN:
            raise ProtocolFailure(f'expected a training task, got {self.pb.TaskKind.Name(task.kind)}')
        if not task.model.model_id:
            raise ProtocolFailure('this check needs a task that starts from a model')
        self.task = task
        log(f'task {task.task_id} round {task.round}, model {task.model.model_id[:12]}')

    def start_download(self, manifest, payload):
        if self.task is None or hashlib.sha256(payload).digest() != self.task.model.sha256:
            raise ProtocolFailure("the manifest is not the one the task's ModelRef pins")
        if manifest.transfer_id != transfer_id([c.sha256 for c in manifest.chunks]):
            raise ProtocolFailure('transfer id does not match the chunk digests')
        self.download = {'manifest': manifest, 'stream': bytearray(manifest.total_bytes), 'received': set()}
        return self.pb.ChunkRequest(transfer_id=manifest.transfer_id, indices=[c.index for c in manifest.chunks])

    def on_chunk(self, frame):
        try:
            chunk = self.pb.TensorChunk()
            chunk.ParseFromString(bytes(frame))
            download = self.download
            manifest = download['manifest']
            digest = manifest.chunks[chunk.index]
            if chunk.transfer_id != manifest.transfer_id or chunk.byte_offset != digest.byte_offset or len(chunk.data) != digest.byte_length:
                raise ProtocolFailure(f'chunk {chunk.index} does not match its manifest entry')
            if hashlib.sha256(chunk.data).digest() != digest.sha256:
                raise ProtocolFailure(f'chunk {chunk.index} is corrupt')
            download['stream'][chunk.byte_offset:chunk.byte_offset + len(chunk.data)] = chunk.data
            download['received'].add(chunk.index)
            reply = self.seal('Ack', self.pb.Ack(message_id=manifest.transfer_id))
            if len(download['received']) == len(manifest.chunks):
                self.downloaded.set()
            return reply
        except Exception as err:
            self.fail(err)
            return self.seal('ErrorReport', self.pb.ErrorReport(code=self.pb.ERROR_CODE_CHUNK_MISMATCH, message=str(err)[:200]))

    def fail(self, err):
        log(f'protocol failure: {err}')
        self.failure = self.failure or err
        self.downloaded.set()

    # --- the site's side ---------------------------------------------------------------------------

    def enrol(self, token):
        public = json.loads(self.key.export_public())
        body = json.dumps({'token': token, 'publicKey': {'kty': public['kty'], 'crv': public['crv'], 'x': public['x']}}).encode()
        request = urllib.request.Request(f'{self.url}/api/enrol', data=body, headers={'content-type': 'application/json'})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            self.site_id = json.loads(response.read())['siteId']

    def hello(self):
        pb = self.pb
        dataset = pb.DatasetSummary(name='lge', case_count=self.cases, labelled_case_count=self.cases,
                                    slice_count=10 * self.cases, labelled_slice_count=10 * self.cases)
        capabilities = pb.Capabilities(ml_backend=pb.ML_BACKEND_TFJS_CPU, memory_mib=1024, cpu_cores=1)
        hello = pb.SiteHello(site_id=self.site_id, agent_version='python-conformance', protocol_version=PROTOCOL_VERSION,
                             capabilities=capabilities, datasets=[dataset])
        _, enrolment, _ = self.call('envelope', self.seal('SiteHello', hello), 'Enrolment')
        if not enrolment.accepted:
            raise ProtocolFailure(f'hello refused: {enrolment.reason}')

    def wait_for_model(self):
        if not self.downloaded.wait(TIMEOUT_S * 3):
            raise ProtocolFailure('no model arrived')
        if self.failure:
            raise self.failure
        self.downloaded.clear()
        download, self.download = self.download, None
        return download['manifest'], bytes(download['stream'])

    def upload(self, tensors):
        """Sends a float32 manifest and the chunks the coordinator asks for; returns the signed manifest's digest."""
        pb = self.pb
        specs, stream = [], bytearray()
        for name, shape, values in tensors:
            data = struct.pack(f'<{len(values)}f', *values)
            specs.append(pb.TensorSpec(name=name, shape=shape, dtype=pb.DTYPE_FLOAT32, byte_offset=len(stream), byte_length=len(data)))
            stream += data
        chunks = []
        for index, start in enumerate(range(0, len(stream), UPLOAD_CHUNK_BYTES)):
            piece = bytes(stream[start:start + UPLOAD_CHUNK_BYTES])
            chunks.append(pb.ChunkDigest(index=index, byte_offset=start, byte_length=len(piece), sha256=hashlib.sha256(piece).digest()))
        manifest = pb.ModelManifest(transfer_id=transfer_id([c.sha256 for c in chunks]), architecture=self.task.model.architecture,
                                    tensors=specs, chunks=chunks, total_bytes=len(stream), chunk_bytes=UPLOAD_CHUNK_BYTES,
                                    parameter_count=sum(len(values) for _, _, values in tensors))
        manifest.architecture.parameter_count = manifest.parameter_count
        # The digest a TrainResult quotes is of the payload bytes signed, which this encoder chose.
        payload = manifest.SerializeToString()
        _, wanted, _ = self.call('envelope', self.seal_bytes('ModelManifest', payload), 'ChunkRequest')
        for index in wanted.indices:
            c = chunks[index]
            frame = pb.TensorChunk(transfer_id=manifest.transfer_id, index=index, byte_offset=c.byte_offset,
                                   data=bytes(stream[c.byte_offset:c.byte_offset + c.byte_length]))
            self.call('chunk', frame.SerializeToString(), 'Ack')
        return manifest, hashlib.sha256(payload).digest(), len(wanted.indices)

    def train_result(self, manifest, digest):
        pb = self.pb
        task = self.task
        return pb.TrainResult(job_id=task.job_id, task_id=task.task_id, round=task.round, site_id=self.site_id,
                              weights_kind=pb.WEIGHTS_KIND_FULL, weights_transfer_id=manifest.transfer_id,
                              weights_manifest_sha256=digest, base_model=task.model, sample_count=self.cases,
                              loss_curve=[pb.LossPoint(epoch=1, step=0, train_loss=0.5)])

    def run(self, token):
        self.enrol(token)
        self.sio.connect(self.url, transports=['websocket'])
        self.hello()
        print(f'READY {self.site_id}', flush=True)
        report = {'siteId': self.site_id, 'rounds': []}
        for _ in range(self.rounds):
            manifest, stream = self.wait_for_model()
            # Read before the TrainResult: once it is acknowledged, the next round's task may replace self.task.
            round_ = self.task.round
            tensors = [(t.name, list(t.shape), [2 * w + 1 for w in read_tensor(t, stream)]) for t in manifest.tensors]
            uploaded, digest, sent = self.upload(tensors)
            if not report['rounds']:
                header, _, payload = self.call('envelope', self.seal('TrainResult', self.train_result(uploaded, hashlib.sha256(b'another manifest').digest())), None)
                if header['msg'] != 'ErrorReport':
                    raise ProtocolFailure(f'a TrainResult quoting a manifest never sent was answered with {header["msg"]}')
                report['refusedWrongDigest'] = self.describe(header, payload)
            self.call('envelope', self.seal('TrainResult', self.train_result(uploaded, digest)), 'Ack')
            report['rounds'].append({'round': round_, 'downloadedChunks': len(manifest.chunks),
                                     'downloadedDtype': self.pb.DType.Name(manifest.tensors[0].dtype), 'uploadedChunks': sent})
        self.sio.disconnect()
        return report


def transfer_id(chunk_digests):
    return hashlib.sha256(b''.join(chunk_digests)).hexdigest()[:32]


def read_tensor(spec, stream):
    count = 1
    for dim in spec.shape:
        count *= dim
    piece = stream[spec.byte_offset:spec.byte_offset + spec.byte_length]
    return struct.unpack(f'<{count}{"e" if spec.dtype == 2 else "f"}', piece)


def main():
    parser = argparse.ArgumentParser()
    for name in ('url', 'token', 'coordinator-key', 'proto-dir'):
        parser.add_argument(f'--{name}', required=True)
    parser.add_argument('--cases', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, args.proto_dir)
    import lgefed_pb2
    site = Site(args, lgefed_pb2)
    try:
        print(json.dumps(site.run(args.token)), flush=True)
    except Exception as err:
        log(f'failed: {err!r}')
        site.sio.disconnect()
        sys.exit(1)


if __name__ == '__main__':
    main()
