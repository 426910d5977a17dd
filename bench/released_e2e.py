"""The released inference code's side of the end-to-end comparison in bench/decode_aed.py.

The released code is the PyPI package ``fireredasr==0.0.2``: a repackaging of FireRedTeam's
inference code (Apache-2.0) that reproduces the released reference outputs exactly.
``utils/setup_venv.sh`` installs it into ``.venv/released``. It has the toolkit's package
name, so it runs here, in its own process, with that folder first on PYTHONPATH:

    PYTHONPATH=.venv/released python bench/released_e2e.py --model_dir DIR WAV...

It decodes the wavs as one batch the way the released ``FireRedAsr.transcribe`` does
(``ASRFeatExtractor``, the encoder, ``decoder.batch_beam_search``) and prints one JSON line:
the seconds of each part and the best hypothesis's token ids per input.
"""
import argparse
import json
import os
import sys
import time

import torch


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model_dir", required=True, help="model.pth.tar and cmvn.ark")
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--decode_max_len", type=int, default=0)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("wavs", nargs="+")
    args = p.parse_args()
    import fireredasr
    from fireredasr.data.asr_feat import ASRFeatExtractor
    from fireredasr.models.fireredasr_aed import FireRedAsrAed

    torch.set_num_threads(args.threads)
    package = torch.load(os.path.join(args.model_dir, "model.pth.tar"), map_location="cpu",
                         weights_only=False)
    model = FireRedAsrAed.from_args(package["args"])
    model.load_state_dict(package["model_state_dict"], strict=True)
    model.eval()
    extractor = ASRFeatExtractor(os.path.join(args.model_dir, "cmvn.ark"))
    with torch.no_grad():
        # Warm-up, as the toolkit's side is warm by the time it is timed: one short decode.
        feats, lengths, _ = extractor(args.wavs)
        enc, _, mask = model.encoder(feats, lengths)
        model.decoder.batch_beam_search(enc, mask, args.beam, 1, 2, 1.0, 0.0, 1.0)
        t0 = time.perf_counter()
        feats, lengths, _ = extractor(args.wavs)
        t1 = time.perf_counter()
        enc, _, mask = model.encoder(feats, lengths)
        t2 = time.perf_counter()
        hyps = model.decoder.batch_beam_search(enc, mask, args.beam, 1, args.decode_max_len,
                                               1.0, 0.0, 1.0)
        t3 = time.perf_counter()
    print(json.dumps({"package": os.path.dirname(fireredasr.__file__),
                      "times": [t1 - t0, t2 - t1, t3 - t2],
                      "hyps": [[int(t) for t in h[0]["yseq"]] for h in hyps]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
