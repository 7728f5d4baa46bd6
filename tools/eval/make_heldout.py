#!/usr/bin/env python3
"""Renders a held-out contact-command set: a contact list, sentences and voices that the dev
set does not use, so the biasing defaults (tuned on dev) can be checked on names and
speakers they have never seen.

    python3 tools/eval/make_heldout.py --out /tmp/heldout       # needs espeak-ng and flite
    nomen transcribe --manifest /tmp/heldout/manifest.jsonl --format jsonl -q > hyp.jsonl
    python3 ../shared/eval/score.py /tmp/heldout/manifest.jsonl hyp.jsonl

Writes `contacts.txt` (100 names from many languages, none in the dev list, a few common
English ones), `manifest.jsonl` (rows as the dev manifest's: id, set "H", audio, text,
entities, bias_list) and the WAVs. Of 80 sentences, 60 hold a name (the full name, or the
given name alone in greetings and questions, some with two names) and 20 hold none (to
count false alarms). Voices: espeak-ng en-gb, en-gb-scotland, en-gb-x-rp and flite kal16,
awb (dev: espeak-ng en-us, flite rms and slt, hibari). Names are given to the TTS as
written, not respelled: the TTS reads them by its English rules, which is how an English
speaker unfamiliar with a name says it. Seeded; Python 3 standard library only.
"""
import argparse
import json
import os
import random
import subprocess

NAMES = """Aoife Gallagher; Mairead Doherty; Niamh Byrne; Cathal Mulcahy; Eilidh Macleod;
Gethin Pryce; Rhiannon Vaughan; Angharad Pugh; Xiaoling Huang; Zhiwei Chen; Qiang Zhou;
Meiling Tan; Jiho Park; Minseo Choi; Haruto Nakamura; Sakura Ishikawa; Thanh Pham;
Duc Hoang; Somchai Wongsawat; Kanya Srisuk; Arjun Iyer; Lakshmi Narayanan; Devika Menon;
Harpreet Dhillon; Sandeep Bhattacharya; Farhan Chowdhury; Nusrat Rahman; Tharindu Perera;
Dilani Wickramasinghe; Oluwaseun Adeyemi; Ngozi Eze; Chiamaka Obi; Kwame Mensah;
Akosua Boateng; Wanjiru Kamau; Otieno Odhiambo; Tendai Moyo; Sipho Dlamini; Lindiwe Zulu;
Abebe Tadesse; Tigist Alemu; Youssef Haddad; Leila Mansour; Karim Belkacem; Amira Khalil;
Dariush Karimi; Shirin Ahmadi; Emre Aydin; Elif Demir; Ariel Mizrahi; Noa Friedman;
Katarzyna Wisniewska; Tomasz Kaczmarek; Ondrej Novotny; Zuzana Horvathova;
Miroslav Petrovic; Snezana Jovanovic; Dragos Popescu; Ioana Dumitrescu; Kristjan Tamm;
Liga Ozolina; Rasa Kazlauskiene; Teodora Georgieva; Anastasios Papadopoulos;
Eleni Karagianni; Sigrun Magnusdottir; Eero Korhonen; Annika Lindqvist; Mads Kristensen;
Ingrid Solberg; Pieter Vandenberghe; Lotte Janssens; Anouk Visser; Xabier Etxeberria;
Itziar Goikoetxea; Joaquim Carvalho; Graca Rodrigues; Ximena Quispe; Guadalupe Mendoza;
Rodrigo Villalobos; Thiago Nascimento; Aroha Tipene; Sione Taufa; Leilani Kealoha;
Mele Fifita; Bolat Nurlanov; Aigerim Sadykova; Batbayar Ganbold; Gulnara Ismailova;
Fiona Campbell; Gareth Hughes; Imogen Ashworth; Declan Murphy; Beatrice Holloway;
Rupert Fairbanks; Priya Chandrasekhar; Vikram Rajagopalan; Nkechi Uzoma; Yerlan Abenov;
Tuan Anh Le"""

# {f}: a full name, {g}: a given name alone, {f2}: a second full name.
WITH_NAME = [
    "call {f} on her mobile",
    "text {f} that i am running late",
    "send {f} the meeting notes",
    "schedule lunch with {f} next thursday",
    "forward this email to {f}",
    "remind me to thank {f} tomorrow",
    "open my chat with {f}",
    "add {f} to the project meeting",
    "video call {f}",
    "what did {g} say about the invoice",
    "is {g} free this afternoon",
    "share my location with {g}",
    "thanks {g} see you later",
    "tell {g} i will be there in ten minutes",
    "invite {f} and {f2} to dinner on friday",
]
NO_NAME = [
    "set a timer for twenty minutes",
    "what is the weather like tomorrow",
    "play some jazz music",
    "turn the heating up a little",
    "how long is my commute today",
    "read my latest messages",
    "call my mother",
    "text the office that i am sick",
    "remind me to buy milk",
    "open the calendar",
    "what time is it in tokyo",
    "add eggs to the shopping list",
    "turn on the kitchen lights",
    "find a coffee shop nearby",
    "send a message to the team",
    "call the garage about the car",
    "show me my photos from last summer",
    "mark all emails as read",
    "how many steps did i walk today",
    "reply that i will call back later",
]
VOICES = [
    ("espeak-ng", "en-gb"),
    ("espeak-ng", "en-gb-scotland"),
    ("espeak-ng", "en-gb-x-rp"),
    ("flite", "kal16"),
    ("flite", "awb"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the list, manifest and WAVs")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--with-name", type=int, default=60)
    a = ap.parse_args()
    names = [n.strip() for n in NAMES.replace("\n", " ").split(";") if n.strip()]
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "audio"), exist_ok=True)
    with open(os.path.join(a.out, "contacts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    rows = []
    pool = names[:]
    rng.shuffle(pool)
    for i in range(a.with_name):
        t = WITH_NAME[i % len(WITH_NAME)]
        f1 = pool[(2 * i) % len(pool)]
        f2 = pool[(2 * i + 1) % len(pool)]
        g = f1.split()[0]
        text = t.format(f=f1, g=g, f2=f2)
        ents = [g] if "{g}" in t else [f1] + ([f2] if "{f2}" in t else [])
        rows.append((text, ents))
    for t in NO_NAME:
        rows.append((t, []))
    with open(os.path.join(a.out, "manifest.jsonl"), "w", encoding="utf-8") as m:
        for i, (text, ents) in enumerate(rows):
            engine, voice = VOICES[i % len(VOICES)]
            rel = "audio/h_%03d.wav" % (i + 1)
            wav = os.path.join(a.out, rel)
            if engine == "espeak-ng":
                cmd = ["espeak-ng", "-v", voice, "-s", str(rng.choice([145, 160, 175])), "-w", wav, text]
            else:
                cmd = ["flite", "-voice", voice, "-t", text, "-o", wav]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            m.write(json.dumps({
                "id": "h_%03d" % (i + 1), "set": "H", "audio": rel, "text": text.lower(),
                "entities": ents, "bias_list": "contacts.txt", "voice": "%s-%s" % (engine, voice),
            }) + "\n")
    print("wrote %d rows (%d with a name) and %d names to %s" % (len(rows), a.with_name, len(names), a.out))


if __name__ == "__main__":
    main()
