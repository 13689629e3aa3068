//! Fuzz target: any JSON value prints without panicking and reads back as the same JSON value
//! (numbers compared by their printed form, as kubectl prints them).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let printed = flotilla_yaml::to_string(&value);
    let opts = flotilla_yaml::ParseOptions {
        kyaml_round_trip: false,
        ..Default::default()
    };
    let back = flotilla_yaml::from_str_with(&printed, &opts)
        .unwrap_or_else(|e| panic!("printed output does not parse: {e}\n{printed}"));
    assert_eq!(flotilla_yaml::to_string(&back), printed);
});
