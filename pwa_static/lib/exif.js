// What a photo's file says about when and where it was taken, read on the device at capture (JPEG EXIF:
// DateTimeOriginal, OffsetTimeOriginal, GPSLatitude/GPSLongitude), so the app can say at once that a photo
// will not count for an article that requires them. The server reads the same facts from the uploaded
// original and decides (media/exif); this is the early warning. Not a JPEG (HEIC, PNG): unknown (null).

const HEAD_BYTES = 256 * 1024;

export async function readCaptureFacts(file) {
  try {
    const view = new DataView(await file.slice(0, HEAD_BYTES).arrayBuffer());
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null; // not a JPEG
    let at = 2;
    while (at + 4 <= view.byteLength) {
      const marker = view.getUint16(at);
      const size = view.getUint16(at + 2);
      if (marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966) return parseTiff(view, at + 10); // "Exif"
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break; // start of scan: no EXIF ahead
      at += 2 + size;
    }
    return { time: null, offset: null, gps: false };
  } catch {
    return null;
  }
}

function parseTiff(view, tiff) {
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (o) => view.getUint16(o, little);
  const u32 = (o) => view.getUint32(o, little);
  const entries = (ifd) => {
    const out = new Map();
    if (!ifd || tiff + ifd + 2 > view.byteLength) return out;
    const count = u16(tiff + ifd);
    for (let i = 0; i < count; i += 1) {
      const e = tiff + ifd + 2 + i * 12;
      if (e + 12 > view.byteLength) break;
      out.set(u16(e), { type: u16(e + 2), count: u32(e + 4), value: e + 8 });
    }
    return out;
  };
  const ascii = (entry) => {
    if (!entry) return null;
    const start = entry.count > 4 ? tiff + u32(entry.value) : entry.value;
    let text = '';
    for (let i = 0; i < entry.count - 1 && start + i < view.byteLength; i += 1) text += String.fromCharCode(view.getUint8(start + i));
    return text.trim() || null;
  };
  const ifd0 = entries(u32(tiff + 4));
  const exif = entries(ifd0.get(0x8769) ? u32(ifd0.get(0x8769).value) : 0);
  const gps = entries(ifd0.get(0x8825) ? u32(ifd0.get(0x8825).value) : 0);
  return {
    time: ascii(exif.get(0x9003)) || ascii(ifd0.get(0x0132)),
    offset: ascii(exif.get(0x9011)),
    gps: gps.has(0x0002) && gps.has(0x0004),
  };
}

// An instant with this device's own UTC offset ("2026-11-20T09:00:00+08:00"): the server places an EXIF
// time that has no offset in the zone of the device that took it.
export function localIso(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const pad = (n) => String(n).padStart(2, '0');
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
