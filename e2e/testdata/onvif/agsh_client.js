// Drives ipcamd's ONVIF services with the npm "onvif" package 0.8.3 (agsh),
// the client library of Shinobi/Scrypted-style NVRs.
//
// usage: node agsh_client.js NODE_MODULES_DIR HOST PORT [USER PASSWORD]
// Prints "info <json>", one "stream <token> <uri>" per profile, then DONE.
const path = require('path');
const onvif = require(path.resolve(process.argv[2], 'onvif'));
const [host, port, username, password] = process.argv.slice(3);
const fail = (what, err) => { console.log('FAIL', what, err && err.message ? err.message : err); process.exit(1); };
setTimeout(() => fail('timeout'), 20000).unref();
new onvif.Cam({hostname: host, port: +port, username, password, timeout: 5000}, function (err) {
  if (err) return fail('connect', err);
  const cam = this;
  cam.getDeviceInformation((err, info) => {
    if (err) return fail('getDeviceInformation', err);
    console.log('info', JSON.stringify(info));
    cam.getProfiles((err, profiles) => {
      if (err) return fail('getProfiles', err);
      let left = profiles.length;
      for (const p of profiles) {
        cam.getStreamUri({protocol: 'RTSP', profileToken: p.$.token}, (err, s) => {
          if (err) return fail('getStreamUri', err);
          console.log('stream', p.$.token, s.uri);
          if (--left === 0) { console.log('DONE'); process.exit(0); }
        });
      }
    });
  });
});
